"""What the step was asked to do: the inputs, the runner's variables, the GitHub event, other CIs' variables; the
only reader of the environment."""
