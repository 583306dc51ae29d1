"""The desktop app: Qt widgets that show what the network sees, fed numpy arrays by a worker."""
