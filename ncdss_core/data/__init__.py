"""Datasets and what is derived from them without any method: readers, the index, folds and
their class splits, the train/selection lists, transforms, shards, and the generated dataset."""
