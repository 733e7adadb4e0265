"""The input side of Raqib: feeds in, stories out, and what they mean."""
