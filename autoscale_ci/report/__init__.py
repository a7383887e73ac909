"""What the step says and where: outputs, the summary, the pull request comment."""
