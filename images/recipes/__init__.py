"""How each image is made: one module an image, so an image's cache key covers its own recipe's source."""
