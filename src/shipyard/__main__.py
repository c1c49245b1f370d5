"""`python -m shipyard` runs the command line (for environments without the script on PATH)."""

from shipyard.cli import main

main()
