"""What maintainers run: the notebook builder, the slide and README generators, and the scripts that make shipped data
and weights. Notebooks never import this package (they import ``utils``)."""
