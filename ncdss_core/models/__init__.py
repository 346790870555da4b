"""Networks: the segmentation model (DeepLabV3-shaped head on a dilated ResNet) and the ICD trunks."""
