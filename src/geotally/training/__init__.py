"""Fine-tuning oriented vehicle detectors on labelled overhead imagery (`geotally train`).

A stage after detection and analysis: it reads labelled images, derives oriented boxes for
axis-aligned labels with a detector, degrades images to satellite GSDs, writes an
Ultralytics OBB dataset, trains, exports to ONNX and registers the result.
"""
