"""Resource tag batches (createTags, deleteTags) as engine processes."""
