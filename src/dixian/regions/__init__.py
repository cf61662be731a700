"""Administrative divisions (行政区划): the region tree, its loader and the place-name matcher."""
