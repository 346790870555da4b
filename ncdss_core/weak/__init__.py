"""ICD (Fan et al., CVPR 2020): seeds from image-level labels. Superpixels, saliency, the CAM + ICD
network and its operators, its trainer and trunk pretraining, inference, seeds, dense CRF, seed scores."""
