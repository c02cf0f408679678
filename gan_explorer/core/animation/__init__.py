"""Animation for performers: seamless loops in Z and W, and pictures driven by a sound file."""
