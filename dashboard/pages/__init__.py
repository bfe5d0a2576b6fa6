"""One module per page: its layout and the callbacks that serve it."""
