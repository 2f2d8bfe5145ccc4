import CorralCore

/// What a step's executor calls gave, one entry per plan item.
struct StepOutput {
    /// The sampled tokens of a generation item (more than one when a draft was accepted);
    /// empty where it sampled nothing.
    var sampled: [[SampledToken]]
    /// The pooled vector of an embedding item; `nil` for a generation item.
    var vectors: [[Float]?]
}

/// The outcome of one step's executor calls.
typealias StepResult = Result<StepOutput, ExecutorError>

extension SchedulerCore {
    /// Runs a planned step on the executor and times it: the generation work in one pass,
    /// then the embedding inputs in a pooled pass of their own.
    func run(_ plan: StepPlan) -> (result: StepResult, seconds: Double) {
        let began = ContinuousClock.now
        let result: StepResult
        do throws(ExecutorError) {
            result = .success(try execute(plan.work))
        } catch {
            result = .failure(error)
        }
        return (result, (ContinuousClock.now - began).seconds)
    }

    private func execute(_ work: [SequenceWork]) throws(ExecutorError) -> StepOutput {
        let embedding = work.indices.filter { work[$0].embed }
        guard !embedding.isEmpty else {
            let sampled = try executor.execute(work)
            return StepOutput(sampled: sampled, vectors: Array(repeating: nil, count: work.count))
        }
        let generation = work.indices.filter { !work[$0].embed }
        var output = StepOutput(sampled: Array(repeating: [], count: work.count),
                                vectors: Array(repeating: nil, count: work.count))
        if !generation.isEmpty {
            for (i, token) in zip(generation, try executor.execute(generation.map { work[$0] })) { output.sampled[i] = token }
        }
        let vectors = try executor.embed(embedding.map { work[$0] })
        guard vectors.count == embedding.count else { throw .failed("the pooled pass returned \(vectors.count) vectors for \(embedding.count) inputs") }
        for (i, vector) in zip(embedding, vectors) { output.vectors[i] = vector }
        return output
    }

    /// One whole step, for a driver that holds no lock: plan, run, commit. The simulation
    /// and the tests call this; `BatchScheduler` calls the same three parts itself, with its
    /// lock released around `run` so that requests can queue meanwhile.
    /// - Parameter seconds: the step time to record, in place of the measured one (a
    ///   simulated clock); nil records the measured time.
    /// - Returns: the plan, and the executor's result when the plan was not empty.
    @discardableResult
    func step(recording seconds: Double? = nil) -> (plan: StepPlan, result: StepResult?) {
        let plan = plan()
        guard !plan.isEmpty else { return (plan, nil) }
        let (result, measured) = run(plan)
        commit(plan, result, seconds: seconds ?? measured, sampleSeconds: executor.lastSampleSeconds)
        return (plan, result)
    }
}
