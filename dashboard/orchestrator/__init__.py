"""The Nexical Orchestrator pages: teams, invites, projects, branches, jobs, tokens, devices."""
