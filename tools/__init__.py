"""What maintainers run: the notebook builder, the slide and README generators, and the scripts that make shipped data
and weights. Run from the repository root (``python -m tools.build_notebooks``, ``tools.slides``, ``tools.readme``);
they need requirements.txt's authoring tools. Notebooks never import this package (they import ``utils``), and it is
not installed with the course."""
