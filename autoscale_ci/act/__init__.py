"""Every write of the action to dbt Cloud, and what makes it safe."""
