"""The platform side: operators who run the whole service, signing in on the apex host only."""
