"""Import/export in the desktop: PDF rendering and printing (Qt print support) and the wizard."""
