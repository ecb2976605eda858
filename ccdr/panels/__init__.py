"""Console panels of the outer layers (core.console.panels.Panel): the SRE status page and the
auditor's drill reports. Wired into the ticket service by ccdr.serve."""
