"""ICD (Fan et al., CVPR 2020) in PyTorch: backbones, operators, network, training, inference."""
