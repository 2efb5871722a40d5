"""pytest plugin (entry point ``pytest11``): the ``agent_harness`` fixture for agent authors."""
