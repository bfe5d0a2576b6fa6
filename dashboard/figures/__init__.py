"""Figure builders: pure functions from a layer (and map furniture) to a Plotly figure."""
