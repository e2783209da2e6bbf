/// The sentences of `bridgeos demo`'s story, in English, Spanish and Ukrainian. The story sends these texts
/// and the phrasebook translator translates them, so the demo runs with no provider and no network.
extension Phrasebook {
    public static let demo = Phrasebook([
        Phrase("morning", [
            "en": "Good morning! Today we start on the third floor.",
            "es": "¡Buenos días! Hoy empezamos en el tercer piso.",
            "uk": "Доброго ранку! Сьогодні починаємо на третьому поверсі.",
        ]),
        Phrase("ladder", [
            "es": "Buenos días. ¿Llevo la escalera grande?",
            "en": "Good morning. Shall I bring the big ladder?",
            "uk": "Доброго ранку. Брати велику драбину?",
        ]),
        // "It" is the ladder only if the conversation says so: the context decides the Spanish gender.
        Phrase("bringIt", [
            "en": "Yes, bring it.",
            "es": "Sí, tráelo.",
            "uk": "Так, принеси його.",
        ], variants: [(words: ["ladder", "escalera", "драбин"], texts: [
            "es": "Sí, tráela.",
            "uk": "Так, принеси її.",
        ])]),
        Phrase("tomorrowSeven", [
            "en": "Tomorrow we start at seven.",
            "es": "Mañana empezamos a las siete.",
            "uk": "Завтра починаємо о сьомій.",
        ]),
        Phrase("plan", [
            "en": "The plan is here: ⟦1⟧ — if anything is unclear, ask ⟦2⟧.",
            "es": "El plan está aquí: ⟦1⟧ — si algo no está claro, pregunta a ⟦2⟧.",
            "uk": "План тут: ⟦1⟧ — якщо щось незрозуміло, запитай ⟦2⟧.",
        ]),
        Phrase("onMyWay", [
            "es": "Perfecto, voy para allá.",
            "en": "Great, on my way.",
            "uk": "Чудово, вже йду.",
        ]),
        Phrase("windows", [
            "en": "Oksana, please check the windows on the second floor.",
            "es": "Oksana, por favor, revisa las ventanas del segundo piso.",
            "uk": "Оксано, будь ласка, перевір вікна на другому поверсі.",
        ]),
        Phrase("cracked", [
            "uk": "Одне вікно тріснуло, ось фото.",
            "en": "One window is cracked, here is a photo.",
            "es": "Una ventana está agrietada, aquí está la foto.",
        ]),
        Phrase("feedbackVoice", [
            "uk": "Дякую, бот дуже зручний. Чи можна отримувати завдання ще й голосом?",
            "en": "Thank you, the bot is very handy. Could tasks also come as voice messages?",
            "es": "Gracias, el bot es muy práctico. ¿Podrían llegar las tareas también como mensajes de voz?",
        ]),
        Phrase("feedbackAnswer", [
            "en": "Thanks, Oksana! Voice tasks are on our list for the spring.",
            "uk": "Дякуємо, Оксано! Голосові завдання — у наших планах на весну.",
            "es": "¡Gracias, Oksana! Las tareas por voz están en nuestros planes para la primavera.",
        ]),
        Phrase("moreCracks", [
            "uk": "Ще три тріщини, на східній стіні.",
            "en": "Three more cracks, on the east wall.",
            "es": "Tres grietas más, en la pared este.",
        ]),
        Phrase("glazierNine", [
            "en": "The glazier comes at 9.",
            "es": "El cristalero viene a las 9.",
            "uk": "Склар прийде о 9.",
        ]),
        Phrase("glazierTen", [
            "en": "The glazier comes at 10.",
            "es": "El cristalero viene a las 10.",
            "uk": "Склар прийде о 10.",
        ]),
        Phrase("glazier", [
            "en": "Thank you! Leave it as it is, the glazier comes tomorrow.",
            "es": "¡Gracias! Déjala como está, el cristalero viene mañana.",
            "uk": "Дякую! Залиш як є, склар прийде завтра.",
        ]),
        Phrase("scaffold", [
            "en": "Check the scaffolding on the east side by 17:00",
            "es": "Revisa el andamio del lado este antes de las 17:00",
            "uk": "Перевір риштування зі східного боку до 17:00",
        ]),
        Phrase("gasValve", [
            "en": "Close the gas valve before you leave.",
            "es": "Cierra la válvula del gas antes de irte.",
            "uk": "Закрий газовий вентиль перед тим, як підеш.",
        ]),
        Phrase("startSeven", [
            "en": "Tomorrow we start at 7:00. Bring your helmets.",
            "es": "Mañana empezamos a las 7:00. Traed los cascos.",
            "uk": "Завтра починаємо о 7:00. Візьміть каски.",
        ]),
        Phrase("delivery", [
            "en": "Iván, the cement arrives at 2 pm. Please meet the truck.",
            "es": "Iván, el cemento llega a las 2 de la tarde. Por favor, recibe el camión.",
            "uk": "Іване, цемент привезуть о 14:00. Будь ласка, зустрінь вантажівку.",
        ]),
        Phrase("sorry", [
            "es": "Perdón, bloqueé el bot sin querer. Ya lo vi: estaré allí a las 2.",
            "en": "Sorry, I blocked the bot by accident. I see it now: I'll be there at 2.",
            "uk": "Вибач, я випадково заблокував бота. Вже бачу: буду там о 14:00.",
        ]),
        Phrase("step1", [
            "en": "1/6 Close all the windows on the second floor.",
            "uk": "1/6 Зачини всі вікна на другому поверсі.",
            "es": "1/6 Cierra todas las ventanas del segundo piso.",
        ]),
        Phrase("step2", [
            "en": "2/6 Cover the floor with plastic sheeting.",
            "uk": "2/6 Накрий підлогу плівкою.",
            "es": "2/6 Cubre el suelo con plástico.",
        ]),
        Phrase("step3", [
            "en": "3/6 Move the paint buckets to the hallway.",
            "uk": "3/6 Перенеси відра з фарбою в коридор.",
            "es": "3/6 Lleva los cubos de pintura al pasillo.",
        ]),
        Phrase("step4", [
            "en": "4/6 Tape the window frames.",
            "uk": "4/6 Обклей віконні рами малярним скотчем.",
            "es": "4/6 Pon cinta en los marcos de las ventanas.",
        ]),
        Phrase("step5", [
            "en": "5/6 Prime the north wall.",
            "uk": "5/6 Заґрунтуй північну стіну.",
            "es": "5/6 Aplica imprimación en la pared norte.",
        ]),
        Phrase("step6", [
            "en": "6/6 Send me a photo when you are done.",
            "uk": "6/6 Надішли мені фото, коли закінчиш.",
            "es": "6/6 Mándame una foto cuando termines.",
        ]),
        Phrase("allDone", [
            "uk": "Усе зроблено, фото надішлю за хвилину.",
            "en": "All done, I'll send the photo in a minute.",
            "es": "Todo hecho, mando la foto en un minuto.",
        ]),
        Phrase("voiceBathroom", [
            "es": "Ya terminé el baño. Mañana empiezo con la cocina.",
            "en": "I've finished the bathroom. Tomorrow I start on the kitchen.",
            "uk": "Я закінчив ванну. Завтра починаю кухню.",
        ]),
        Phrase("pourConcrete", [
            "en": "Pour the concrete for the terrace on Friday, not before.",
            "es": "Vierte el hormigón de la terraza el viernes, no antes.",
            "uk": "Залий бетон для тераси в п'ятницю, не раніше.",
        ]),
    ])
}
