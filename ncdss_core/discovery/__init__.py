"""NCDSS (Zhao et al., CVPR 2022): novel class discovery. Base removal, clustering pseudo-labels,
entropy ranking, EUMS, the fine-tuning variants and the runners that train them."""
