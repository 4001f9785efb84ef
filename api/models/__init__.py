"""Tables (``tables``) and the request/response models kept apart from them."""
