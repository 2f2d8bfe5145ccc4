/// Placeholder.
enum ServerPlaceholder {}
