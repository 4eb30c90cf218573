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
`run` is a one-shot container on overlay(lowers, upper). The engine's backend is
sampan/engine/build_backend.py; tests/integration/build/runc_backend.py is a
test-only one over plain `runc run`. A backend may also offer the optional
`adopt_layer_dir(layers, upper)` (see backend.py): taking each step's upper dir
as the unpacked layer saves re-extracting it (cold build 0.83 -> 0.55 s and one
changed file 0.59 -> 0.22 s in the in-process benchmark).
"""
