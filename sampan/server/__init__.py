"""The Docker Engine API server (`sampan system service`): a second front end beside cli/.

It talks to the engine only through its facade (engine.Engine, options, reports), as the
CLI does; each call runs in a child process forked for it (children.py).
"""
