"""NCDSS (Zhao et al., CVPR 2022): novel class discovery, a module per stage.

settings (the config keys of each stage), base_training, base_removal (and prototypes), clustering
(and pseudo-labels), finetuning (basic, EUMS and the ablation rows of `variants`), ranking; what the
trainings share is in training, EUMS's steps in eums, the losses in losses."""
