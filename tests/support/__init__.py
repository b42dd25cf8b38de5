"""What the tests share: fakes, synthetic audio, the virtual sound server and
the live-call harness, the CLI helpers. Test code only: none of it is installed
with the coach package."""
