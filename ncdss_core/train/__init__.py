"""The one epoch loop every training uses, and its learning-rate schedules."""
