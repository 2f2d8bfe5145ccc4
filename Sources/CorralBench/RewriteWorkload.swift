/// The repeat-heavy workload speculative decoding is for: "repeat this code with one
/// rename", answered with as many tokens as the code has (`ignore_eos`), as a code editor's
/// or a retrieval answer's output repeats its prompt. Each request renames a different
/// identifier, so requests differ while sharing the code.
public struct RewriteWorkload: Sendable {
    /// The code every prompt carries.
    public let code: String

    /// Uses `code`, or the built-in sample (32 lines of Python) when nil.
    public init(code: String? = nil) {
        self.code = code ?? Self.sample
    }

    /// Request `index`'s prompt: the code, the instruction, and the opening of the answer's
    /// code block (the bench sends raw completions, so the prompt starts the answer).
    public func prompt(index: Int) -> String {
        let (from, to) = Self.renames[index % Self.renames.count]
        return "```python\n\(code)```\n\nRepeat the code above exactly, with `\(from)` renamed to `\(to)`.\n\n```python\n"
    }

    static let renames = [("records", "rows"), ("record", "row"), ("groups", "buckets"), ("members", "people"),
                          ("fields", "parts"), ("handle", "source"), ("path", "filename"), ("total", "age_sum")]

    /// The built-in code sample.
    public static let sample = """
        def load_records(path):
            records = []
            with open(path) as handle:
                for line in handle:
                    line = line.strip()
                    if not line or line.startswith("#"):
                        continue
                    fields = line.split(",")
                    records.append({"name": fields[0], "age": int(fields[1]), "city": fields[2]})
            return records


        def average_age(records):
            if not records:
                return 0.0
            total = sum(record["age"] for record in records)
            return total / len(records)


        def by_city(records):
            groups = {}
            for record in records:
                groups.setdefault(record["city"], []).append(record)
            return groups


        def main(path):
            records = load_records(path)
            print("records:", len(records))
            print("average age:", average_age(records))
            for city, members in sorted(by_city(records).items()):
                print(city, len(members))

        """
}
