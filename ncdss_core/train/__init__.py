"""The one epoch loop every training uses (`loop.fit`), its learning-rate schedules (`schedules`),
seeded DataLoaders and their worker init (`loaders`), and the zipping of several data streams into
one epoch (`streams`). What a stage trains (its step, model, optimiser) lives with its method."""
