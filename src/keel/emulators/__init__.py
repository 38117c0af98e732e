"""Local stand-ins for cloud APIs keel drives, speaking their documented protocols (test beds and features)."""
