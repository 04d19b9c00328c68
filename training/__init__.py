"""Training: stage 1 (embodied-reasoning SFT with TRL) and stage 2 (the flow-matching action expert)."""
