import Foundation
import RecRLTensor

/// A list model's online transitions (LIRD; see ``OnlineDRR``): feedback collects per-item
/// rewards in the session's ``PendingList``, and a closed list becomes one transition in the
/// same replay buffer the item-wise DRR transitions go to, learned by the same
/// ``DRRLearningStep`` and published the same way.
extension OnlineDRR {
    /// A list whose feedback is complete (or that a newer list replaced), with what its
    /// transition needs besides the list: the actor's action when it was served (kept only
    /// for ``DRRConfiguration/ReplayAction/actorAction``) and the window after its feedback.
    struct ClosedList: Sendable {
        var list: PendingList
        var action: [Float]?
        var after: StateWindow
    }

    /// Feedback on `item` for a list model: a positive reward pushes the item into the
    /// window; when the item is in the pending list its slot gets `Γ^position · reward`
    /// (`position` defaults to the slot), and a list with feedback on every slot is closed
    /// into a transition.
    func recordListFeedback(user: String, item: Int, reward: Float, position: Int?, model: DRRModel) throws {
        let size = model.configuration.windowSize, discount = positionDiscount
        let closed = try sessions.update(user: user) { stored -> ClosedList? in
            if stored == nil { stored = DRRSession(window: StateWindow(size: size, initial: [])) }
            if reward > 0 { stored!.window.push(item) }
            guard var pending = stored!.pendingList, let slot = pending.items.firstIndex(of: item) else { return nil }
            pending.discountedRewards[slot] = Self.positionWeight(discount, position: position ?? slot) * reward
            guard pending.isComplete else {
                stored!.pendingList = pending
                return nil
            }
            stored!.pendingList = nil
            return ClosedList(list: pending, action: stored!.lastAction, after: stored!.window)
        }
        counters.withLock { $0.observed += 1 }
        if let closed { storeList(closed, user: user, model: model) }
    }

    /// A logged event of a list model with its position (a learner replaying the event
    /// log, ``observeLogged(user:item:reward:position:)``): the served list is not logged,
    /// so the user's session rebuilds it from consecutive events with positions. The event
    /// fills slot `position` of the user's logged list with its item and `Γ^position · r`; a
    /// list with every slot filled becomes one transition (state: the window before the
    /// list's first event; next state: the window after its last). An event whose position
    /// or item is already in the list starts a new one (the incomplete list is dropped and
    /// counted); a position outside the list (`≥ K`) only moves the window. A positive
    /// reward pushes the item into the window, as for served lists.
    /// - Returns: the window before the event.
    func recordLoggedListFeedback(user: String, item: Int, reward: Float, position: Int, model: DRRModel) throws -> StateWindow {
        let size = model.configuration.windowSize, slots = model.listSize, discount = positionDiscount
        let empty = [Int](repeating: -1, count: slots)
        let (before, closed, cut) = try sessions.update(user: user) { stored -> (StateWindow, ClosedList?, Bool) in
            if stored == nil { stored = DRRSession(window: StateWindow(size: size, initial: [])) }
            let before = stored!.window
            defer { if reward > 0 { stored!.window.push(item) } }
            guard position < slots else { return (before, nil, false) }
            var pending = stored!.pendingList ?? PendingList(stateWindow: before, items: empty)
            let cut = pending.items[position] >= 0 || pending.items.contains(item)
            if cut || pending.items.count != slots { pending = PendingList(stateWindow: before, items: empty) }
            pending.items[position] = item
            pending.discountedRewards[position] = Self.positionWeight(discount, position: position) * reward
            guard pending.isComplete else {
                stored!.pendingList = pending
                return (before, nil, cut)
            }
            stored!.pendingList = nil
            var after = stored!.window
            if reward > 0 { after.push(item) }
            return (before, ClosedList(list: pending, action: nil, after: after), cut)
        }
        counters.withLock {
            $0.observed += 1
            if cut { $0.dropped += 1 }
        }
        if let closed { storeList(closed, user: user, model: model, logged: true) }
        return before
    }

    /// `Γ^position`, the weight of a reward at `position` in the list reward (as
    /// ``LIRDConfiguration/listReward(_:)`` weighs position `j`).
    static func positionWeight(_ discount: Float, position: Int) -> Float {
        var weight: Float = 1
        for _ in 0..<position { weight *= discount }
        return weight
    }

    /// Writes `closed` into the replay as one transition (state: the window it was served
    /// in; action: its items' scaled embeddings, or the actor's action per
    /// ``DRRConfiguration/replayAction``; reward: ``PendingList/listReward``; next state: the
    /// window after its feedback), or counts it in ``droppedTransitions`` when the
    /// recommender does not learn or when the list reward overflows to infinity (a
    /// transition that would make every batch it is sampled into diverge). A `logged` list
    /// always replays its items' embeddings (the actor's action is not logged).
    func storeList(_ closed: ClosedList, user: String, model: DRRModel, logged: Bool = false) {
        guard let experience = loop.experience, closed.list.listReward.isFinite else {
            counters.withLock { $0.dropped += 1 }
            return
        }
        let u = userIndex[user] ?? -1
        let replaysItems = logged || model.configuration.replayAction == .itemEmbedding
        experience.withLock { e in
            _ = e.add(
                model: model, user: u, before: closed.list.stateWindow, after: closed.after, reward: closed.list.listReward,
                items: closed.list.items, replaysItems: replaysItems, actorAction: closed.action)
        }
    }
}
