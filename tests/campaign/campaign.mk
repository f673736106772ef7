# make campaign: the field-by-field corruption campaign of the corpus images
# (tests/campaign/campaign.sh); not part of check, which runs its short
# form through tests/t_campaign.sh. Results in $(BUILD)/campaign.
# e.g. make campaign CAMPAIGN_OPTS="--full --sample 15 -j 2"
CAMPAIGN_OPTS	?= --short
.PHONY: campaign
campaign: bcachefs $(BUILD)/san/bcachefs $(BUILD)/tools/bch_campaign
	@sh tests/campaign/campaign.sh --images "$(IMAGES)" --build "$(BUILD)" \
		--out "$(BUILD)/campaign" $(CAMPAIGN_OPTS)
