"""Task heads (imported by hrnet_tasks.models and the task packages)."""
