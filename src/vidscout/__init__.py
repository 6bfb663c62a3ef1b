"""vidscout: answer questions about hour-long videos and direct video generation."""
