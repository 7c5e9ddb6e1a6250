"""Every setting Dynamote reads, validated once at start."""
