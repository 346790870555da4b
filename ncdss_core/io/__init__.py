"""File I/O shared by every step: atomic writes of files and artifact directories."""
