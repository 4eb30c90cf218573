"""Dockerfile builds.

How the engine uses it (nothing here imports sampan.engine):

    from sampan.build.executor import BuildOptions, build, parse_build_args
    from sampan.build.inputs import read_dockerfile
    from sampan.build.progress import make_progress

    text, ctx_dir, name, path = read_dockerfile(context, file, sys.stdin.buffer)
    opts = BuildOptions(text, ctx_dir, name, path, tags=[...],
                        build_args=parse_build_args(items, os.environ), target=...,
                        no_cache=..., network="default" | "none" | "host", labels={...})
    progress = make_progress("quiet" if quiet else mode, sys.stderr)
    result = build(backend, db, opts, progress)   # BuildResult(image_id, tags, image, ...)

`backend` implements sampan.build.backend.BuildBackend; with the store most
methods are one line: base_image -> store.resolve (id, config, layers);
layer_dirs -> unpack by chain id, top first; add_layer_from_dir, write_image,
tag -> the store's own; temp_dir -> a new dir under paths.tmp (mode 0755: an
overlay upper's root mode becomes the container's "/"); layer_to_json /
layer_from_json -> LayerRef.to_json / from_json (None when the blob is gone).
`run` is a one-shot container on overlay(lowers, upper). See
tests/integration/build/runc_backend.py for a complete (test-only) example.
"""
