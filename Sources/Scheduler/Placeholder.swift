/// Placeholder.
enum SchedulerPlaceholder {}
