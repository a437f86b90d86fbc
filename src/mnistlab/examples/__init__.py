"""The examples that come with the package: a variants grid (grid.toml) and the exercise as a
notebook (exercise.ipynb). `mnistlab examples` copies them into a folder of yours."""
