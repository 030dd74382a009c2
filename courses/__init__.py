"""Courses: courses, lectures, study materials, authoring, catalog, media, required courses."""
