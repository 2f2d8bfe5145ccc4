import CorralCore

/// The outcome of one executor call.
typealias StepResult = Result<[[SampledToken]], ExecutorError>

extension SchedulerCore {
    /// Runs a planned step on the executor and times it.
    func run(_ plan: StepPlan) -> (result: StepResult, seconds: Double) {
        let began = ContinuousClock.now
        let result: StepResult
        do throws(ExecutorError) {
            result = .success(try executor.execute(plan.work))
        } catch {
            result = .failure(error)
        }
        return (result, (ContinuousClock.now - began).seconds)
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
