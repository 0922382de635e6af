"""Training: configuration, the LightningModule, the Trainer factory and the fit unit."""
