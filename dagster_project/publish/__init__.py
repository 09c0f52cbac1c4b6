"""Publishing: swap an audited candidate into place as a zone's mart, atomically."""
