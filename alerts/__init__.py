"""The output side of Raqib: who hears about a story, how, and that they did."""
